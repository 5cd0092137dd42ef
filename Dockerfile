# The `zk` image: one static-enough binary that runs as `zk server` (ensemble members)
# and `zk operator` (the operator Deployment). Build: docker build -t zk:0.1.0 .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin zk \
 && install -D -m 0755 target/release/zk /out/zk

# distroless/cc has glibc and libgcc and nothing else: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/zk /usr/local/bin/zk
# Members get their user from the pod security context (1000 by default); the operator
# runs as distroless' nonroot (65532). Nothing is written outside mounted volumes.
USER 65532:65532
EXPOSE 2181 2888 3888 8080 7000
ENTRYPOINT ["/usr/local/bin/zk"]
CMD ["server"]
