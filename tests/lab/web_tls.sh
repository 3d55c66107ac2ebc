#!/usr/bin/env bash
# Writes the certificates the exporter's HTTPS tests use (--web.config.file) into DIR:
#   ca.crt            a lab CA (the one Prometheus is told to trust)
#   server.crt/.key   signed by it, for 127.0.0.1 (and localhost), serverAuth
#   client.crt/.key   signed by it, CN=prometheus, clientAuth (mTLS)
#   rogue-ca.crt, rogue-client.crt/.key   another CA and a client it signed (must be refused)
#   mismatch.key      a key that belongs to none of them
# P-256 keys, valid 30 days. Usage: tests/lab/web_tls.sh DIR. Needs the openssl command.
set -euo pipefail
dir=${1:?usage: web_tls.sh DIR}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # ca NAME SUBJECT
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$1.crt" 2>/dev/null
}
leaf() {  # leaf NAME CA SUBJECT EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 30 \
    -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=smtp_exporter lab CA"
leaf server ca "/CN=127.0.0.1" \
  "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf client ca "/CN=prometheus" "extendedKeyUsage=clientAuth"
ca rogue-ca "/CN=someone else's CA"
leaf rogue-client rogue-ca "/CN=prometheus" "extendedKeyUsage=clientAuth"
key mismatch.key
chmod 644 ./*.crt ./*.key
