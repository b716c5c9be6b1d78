# TLS with verify-full on both sides: clone and verify identical; a wrong CA fails in one line

# make_cert DIR NAME CA: a key and a certificate for localhost and 127.0.0.1, signed by CA
# (DIR/CA.key, DIR/CA.crt); make_ca DIR NAME: a self-signed CA.
make_ca() {
  openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=pgsluice test $2" \
    -keyout "$1/$2.key" -out "$1/$2.crt" 2>>"$1/openssl.log" || fail "could not make the CA $2"
}
make_cert() {
  openssl req -new -nodes -newkey rsa:2048 -subj "/CN=localhost" \
    -keyout "$1/$2.key" -out "$1/$2.csr" 2>>"$1/openssl.log" || fail "could not make the key $2"
  printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\n' >"$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.crt" -CAkey "$1/$3.key" -CAcreateserial -days 2 \
    -extfile "$1/$2.ext" -out "$1/$2.crt" 2>>"$1/openssl.log" || fail "could not sign the certificate $2"
}

case_main() {   # TLS on both sides, verify-full: clone and verify through libpq's COPY; a wrong CA fails in one line
  local pki=$case_dir/pki src_port_tls dst_port_tls sconn dconn status=0 c
  command -v openssl >/dev/null || fail "openssl is not installed"
  mkdir -p "$pki"
  make_ca "$pki" ca
  make_ca "$pki" other_ca
  make_cert "$pki" server ca
  # the server reads its key as the cluster's owner, and only from a file no one else may read
  chown "$(pgcluster__owner):" "$pki/server.key" "$pki/server.crt" && chmod 0600 "$pki/server.key" \
    || fail "could not hand the server key to the cluster's owner"
  chmod 0755 "$pki"
  # TCP only with TLS: a connection that is not encrypted is refused outright
  printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n' \
    >"$pki/pg_hba.conf"
  src_port_tls=$(closed_port)
  dst_port_tls=$(closed_port)
  while [ "$dst_port_tls" = "$src_port_tls" ]; do dst_port_tls=$(closed_port); done
  for c in tls_source:"$src_port_tls" tls_target:"$dst_port_tls"; do
    extra_cluster_start "$case_dir/${c%%:*}" "${c#*:}" listen_addresses=127.0.0.1 ssl=on \
      ssl_cert_file="$pki/server.crt" ssl_key_file="$pki/server.key" hba_file="$pki/pg_hba.conf"
  done
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_source" -p "$src_port_tls" -U postgres -d postgres \
    -c "CREATE DATABASE src" >/dev/null || fail "could not create src on the TLS source"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_source" -p "$src_port_tls" -U postgres -d src \
    -f "$here/sample.sql" >"$case_dir/load.log" 2>&1 || fail "could not load sample.sql into the TLS source"
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -h "$case_dir/tls_target" -p "$dst_port_tls" -U postgres -d postgres \
    -c "CREATE DATABASE dst" >/dev/null || fail "could not create dst on the TLS target"
  tls_conn() {   # tls_conn PORT DB CA
    printf 'host=localhost hostaddr=127.0.0.1 port=%s user=postgres dbname=%s sslmode=verify-full sslrootcert=%s' \
      "$1" "$2" "$pki/$3.crt"
  }
  sconn=$(tls_conn "$src_port_tls" src ca)
  dconn=$(tls_conn "$dst_port_tls" dst ca)
  "$psql_bin" -X -A -t -d "$sconn" -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
    >"$case_dir/ssl" || fail "psql could not connect through TLS"
  [ "$(cat "$case_dir/ssl")" = t ] || fail "the session through TCP is not encrypted"
  "$psql_bin" -X -A -t -d "host=127.0.0.1 port=$src_port_tls user=postgres dbname=src sslmode=disable" -c "SELECT 1" \
    >/dev/null 2>&1 && fail "the TLS source takes connections without TLS"

  # (the server refuses TCP without TLS, so every session of the clone, its pg_dump and
  # pg_restore included, is encrypted, and the workers move rows through libpq's COPY functions)
  sluice clone --source "$sconn" --target "$dconn" --jobs 2 --chunk-size 1MB --split-all \
    || fail "pgsluice clone through TLS exited with status $?"
  echo "+ compare.sh (TLS source, TLS target)"
  "$compare" "$sconn" "$dconn" >"$case_dir/compare.out" 2>&1 || { cat "$case_dir/compare.out"; fail "compare.sh found differences"; }
  cat "$case_dir/compare.out"
  sluice verify --source "$sconn" --target "$dconn" --jobs 2 --chunk-size 1MB \
    || fail "pgsluice verify through TLS exited with status $? (want 0)"
  grep -q 'identical' "$case_dir/out" || fail "verify did not say identical"

  # a CA that did not sign the server's certificate: refused at once, in one line
  sluice verify --source "$(tls_conn "$src_port_tls" src other_ca)" --target "$dconn" || status=$?
  [ "$status" -eq 2 ] || fail "verify with the wrong CA for the source exited with status $status (want 2)"
  one_line_error "certificate" "no password here"
  status=0
  sluice clone --source "$sconn" --target "$(tls_conn "$dst_port_tls" dst other_ca)" || status=$?
  [ "$status" -eq 4 ] || fail "clone with the wrong CA for the target exited with status $status (want 4)"
  one_line_error "certificate" "no password here"
}
