#!/usr/bin/env bash
# Regenerates the TLS test files of crates/api (api::tls tests). Test-only keys, valid 100 years; the CA
# and intermediate keys are thrown away. Run from this folder: bash make.sh
#   ca.pem                   root CA the test clients trust
#   chain.pem / chain.key    leaf (localhost, 127.0.0.1; EC P-256, PKCS#8) + intermediate: a served chain
#   other.pem / other.key    second leaf signed by the root (RSA 2048, PKCS#1): the reload target
set -euo pipefail
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/ca.key" -out ca.pem -days $days \
  -subj "/CN=Shipshape Test Root CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/int.key" -out "$t/int.csr" -subj "/CN=Shipshape Test Intermediate"
openssl x509 -req -in "$t/int.csr" -CA ca.pem -CAkey "$t/ca.key" -CAcreateserial -out "$t/int.pem" -days $days \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n')
leaf_ext='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout chain.key -out "$t/leaf.csr" -subj "/CN=localhost"
openssl x509 -req -in "$t/leaf.csr" -CA "$t/int.pem" -CAkey "$t/int.key" -CAcreateserial -out "$t/leaf.pem" -days $days \
  -extfile <(printf "$leaf_ext")
cat "$t/leaf.pem" "$t/int.pem" > chain.pem
openssl genrsa -traditional -out other.key 2048
openssl req -new -key other.key -out "$t/other.csr" -subj "/CN=localhost"
openssl x509 -req -in "$t/other.csr" -CA ca.pem -CAkey "$t/ca.key" -CAcreateserial -out other.pem -days $days \
  -extfile <(printf "$leaf_ext")
rm -f ca.srl
