#!/bin/sh
# Builds the Nitro enclave image (EIF) from deploy/nitro/Dockerfile and prints the PCRs to pin.
# Run on the parent EC2 instance (nitro-cli installed), from the coordinator's enclave/ folder:
#   sh /path/to/deploy/nitro/build-enclave.sh
set -eu
cp "$(dirname "$0")/Dockerfile" ./Dockerfile
docker build -t cloister-enclave:measured .
# PCR0 = image, PCR1 = Nitro kernel + boot ramfs, PCR2 = application: nitro-cli prints them as JSON
nitro-cli build-enclave --docker-uri cloister-enclave:measured --output-file cloister-enclave.eif \
  | tee cloister-enclave.pcrs.json
echo "Pin these in every party's expected-pcrs.json (provision --platform is not written yet; provision writes simulated PCRs);"
echo "check a document by hand with: cloister attest verify DOC --expect pcr0=HEX --expect pcr1=HEX --expect pcr2=HEX"
# start (debug mode would zero the PCRs: never --debug-mode with real data)
# nitro-cli run-enclave --eif-path cloister-enclave.eif --cpu-count 2 --memory 4096
