# Berth as a container image: one static binary in an empty (FROM scratch)
# image. The binary is built outside Docker, so no base image is pulled:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o berth ./cmd/berth
#   docker build -t berth .
#
# .dockerignore keeps everything but the binary and deploy/data out of the
# build context. The image has no shell, no CA bundle and no users database:
# Berth needs none of them unless it talks to S3 over HTTPS, in which case
# mount the host's CA bundle at /etc/ssl/certs/ca-certificates.crt.
#
#   docker run -p 127.0.0.1:5000:5000 -v berth-data:/data berth
#
# Settings come from BERTH_* environment variables (see the README); the
# scale-out deployment in deploy/compose.yaml shows them for S3 + PostgreSQL.
FROM scratch
COPY berth /berth
# /data (BERTH_DATA_DIR) owned by the unprivileged user Berth runs as.
COPY --chown=65532:65532 deploy/data /data
USER 65532:65532
ENV BERTH_LISTEN=:5000 \
    BERTH_DATA_DIR=/data \
    BERTH_LOG_FORMAT=json
EXPOSE 5000
VOLUME ["/data"]
ENTRYPOINT ["/berth"]
CMD ["serve"]
