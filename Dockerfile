# syntax=docker/dockerfile:1
#
# Ticketflow's two images, from one file (docker-compose.yml builds both):
#
#   docker build --target ticketflow -t ticketflow .          (the default target)
#       one static binary, `ticketflow`, on distroless: every service
#       (`serve auth` ...), the worker, migrations and admin tasks; runs as
#       nonroot, has no shell and no curl (`ticketflow healthcheck` instead)
#   docker build --target gateway -t ticketflow-gateway .
#       the official nginx with deploy/nginx/ and the web app built from web/
#
# The web app is built only for the gateway: BuildKit skips stages the
# requested target does not need, so building the ticketflow image never
# touches web/. The gateway needs web/package.json and package-lock.json.

ARG GO_VERSION=1.26.10
ARG NODE_VERSION=24
ARG NGINX_VERSION=1.28

# ---- the Go binary ---------------------------------------------------------
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/ticketflow ./cmd/ticketflow
# The folders the services write to, for the volumes to start from (a new
# named volume takes the ownership of the image's folder).
RUN mkdir -p /out/var/lib/ticketflow/attachments /out/var/lib/ticketflow/mail

# ---- the web app (React + Vite) --------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- the gateway: nginx with the configuration and the web app --------------
FROM nginx:${NGINX_VERSION}-alpine AS gateway
RUN rm -f /etc/nginx/conf.d/default.conf
COPY deploy/nginx/compose/nginx.conf /etc/nginx/nginx.conf
COPY deploy/nginx/compose/env/ /etc/nginx/env/
COPY deploy/nginx/*.conf /etc/nginx/ticketflow/
COPY --from=web /web/dist/ /usr/share/ticketflow/web/
# The certificate is mounted at /etc/nginx/certs (cert.pem, key.pem).
EXPOSE 80 443

# ---- the services, the worker, migrate, admin: the default target ---------
FROM gcr.io/distroless/static-debian12:nonroot AS ticketflow
COPY --from=build /out/ticketflow /ticketflow
COPY --from=build --chown=65532:65532 /out/var/lib/ticketflow /var/lib/ticketflow
ENV ATTACHMENTS_DIR=/var/lib/ticketflow/attachments \
    MAIL_DIR=/var/lib/ticketflow/mail \
    LOG_FORMAT=json
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/ticketflow"]
CMD ["--help"]
