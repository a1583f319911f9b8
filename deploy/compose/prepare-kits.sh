#!/usr/bin/env bash
# Provisions the kits for docker-compose.yml with the image itself, then points the coordinator at
# the PostgreSQL service and exposes its metrics to the compose network. Run from deploy/compose/.
set -euo pipefail
image="${CLOISTER_IMAGE:-cloister:0.1.0-SNAPSHOT}"
docker run --rm -v "$PWD:/work" -w /work "$image" provision consortium.yaml --out kits
sed -i -e 's#^database: jdbc:sqlite:coordinator.db#database: jdbc:postgresql://postgres:5432/cloister?user=cloister#' \
       -e 's#^metrics: 127.0.0.1:9464 #metrics: 0.0.0.0:9464 #' kits/coordinator/coordinator.yaml
sed -i -e 's#^metrics: 127.0.0.1:0#metrics: 0.0.0.0:9465#' kits/site-*/site.yaml
# the coordinator's password for PostgreSQL, in the driver's ~/.pgpass format (the container's HOME is /tmp; PGPASSFILE points here)
umask 077
pw="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
printf '%s' "$pw" > kits/db-password
printf 'postgres:5432:cloister:cloister:%s\n' "$pw" > kits/coordinator/pgpass
echo "kits ready: put each site's data.csv into kits/site-N/, then: docker compose up -d"
