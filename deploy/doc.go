// Package deploy holds no code: this folder keeps the gateway's nginx
// configuration (nginx/) and the files docker-compose.yml uses. Its tests
// check them: compose_test.go parses docker-compose.yml as Docker Compose
// would and asserts the shape of the deployment; gateway_test.go runs the
// real nginx with nginx/ in front of replicated ticketflow processes and
// drives a ticket through it over TLS.
package deploy
