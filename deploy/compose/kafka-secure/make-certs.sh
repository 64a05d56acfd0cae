#!/usr/bin/env bash
# A CA and the broker's certificate for docker-compose.kafka-secure.yml, when the site has no
# CA of its own: `deploy/compose/kafka-secure/make-certs.sh [directory]` (default
# deploy/compose/kafka-secure/tls, which git ignores). The broker's name is `kafka`, as the
# services reach it. Keep ca.key offline; the services need only ca.crt.
set -euo pipefail
DIR="${1:-$(dirname "$0")/tls}"
DAYS="${DAYS:-825}"
mkdir -p "$DIR"
cd "$DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=Shouhu Kafka CA" -keyout ca.key -out ca.crt
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=kafka" \
  -keyout broker.key -out broker.csr
printf 'subjectAltName=DNS:kafka,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" \
  -extfile broker.ext -out broker.crt
# Kafka's PEM keystore: the PKCS#8 private key, then the certificate chain.
openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.pk8
cat broker.pk8 broker.crt ca.crt >broker.pem
rm -f broker.csr broker.ext broker.key broker.pk8 ca.srl
chmod 600 ca.key broker.pem
chmod 644 ca.crt
echo "wrote $DIR/ca.crt and $DIR/broker.pem (and ca.key: keep it elsewhere)"
