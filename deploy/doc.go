// Package deploy keeps the gateway's nginx configuration (nginx/) and the
// files docker-compose.yml uses. Its one piece of code, csp.go, hands the
// Content-Security-Policy of nginx/csp.conf to `ticketflow dev`, so that
// both send the same policy. Its tests check the rest: compose_test.go
// parses docker-compose.yml as Docker Compose would and asserts the shape
// of the deployment; dockerfile_test.go parses the Dockerfile and builds
// the binary as it does; config_test.go holds nginx's limits and timeouts
// to the services' own figures; gateway_test.go runs the real nginx with
// nginx/ in front of replicated ticketflow processes and drives a ticket
// through it over TLS.
package deploy
