# One image for every service: `contacto <subcommand>`.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p contacto

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/target/release/contacto /usr/local/bin/contacto
COPY contacto.toml ./
COPY fixtures ./fixtures
COPY templates ./templates
ENV CONTACTO_DATA_DIR=/var/lib/contacto
VOLUME /var/lib/contacto
ENTRYPOINT ["contacto"]
CMD ["run"]
