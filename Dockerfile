# One image per function, from one file: the four functions share the workspace and its
# build, so four copies of this file would only drift apart.
#
#   docker build --build-arg FUNCTION=convert -t ghcr.io/mp3convert/mp3convert-convert:latest .
#
# FUNCTION is auth, upload, convert, download or notify (the binary `mp3convert-$FUNCTION`).
# Deploying: knative/README.md.

ARG RUST_VERSION=1.88

FROM rust:${RUST_VERSION}-bookworm AS build
ARG FUNCTION
RUN case "$FUNCTION" in auth|upload|convert|download|notify) ;; \
      *) echo "--build-arg FUNCTION=auth|upload|convert|download|notify (got '$FUNCTION')" >&2; exit 1 ;; esac
WORKDIR /src
COPY . .
# LAME (mp3lame-sys: ./configure && make) and aws-lc build with the image's gcc and make.
# The caches keep crates and compiled dependencies between builds of the four images.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p "$FUNCTION" --bin "mp3convert-$FUNCTION" \
    && cp "target/release/mp3convert-$FUNCTION" /function

# The binaries need only glibc and libgcc (LAME is linked statically; TLS is rustls):
# distroless/cc has exactly that and no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /function /usr/local/bin/function
# Knative sets PORT from the Service's containerPort (8080); the binary listens on 0.0.0.0:$PORT.
ENV PORT=8080
EXPOSE 8080
# Numeric (distroless's `nonroot`): the kubelet can only verify runAsNonRoot on a numeric user.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/function"]
