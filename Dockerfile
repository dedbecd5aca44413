# syntax=docker/dockerfile:1
# wam in a container: one static binary on distroless. PostgreSQL and NATS
# come from outside (see compose.yaml): DATABASE_URL and NATS_URL must be set,
# since the private PostgreSQL that `wam serve` runs otherwise needs the
# server binaries, which this image does not have.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that the download is cached until go.mod changes.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Hook: the web UI build (a node stage whose ui/dist is copied in here)
# goes before this step once ui/ has one.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/wam ./cmd/wam \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wam /usr/local/bin/wam
# The data directory (embedded NATS store, when NATS_URL is empty), writable
# by the image's nonroot user.
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV WAM_DATA_DIR=/data PORT=3000
VOLUME /data
EXPOSE 3000
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/wam"]
CMD ["serve"]
