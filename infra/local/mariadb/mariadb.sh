# MariaDB for infra/local/services (sourced by it; uses its helpers and settings).
#
# Debian's `mariadb-server` package, run as a server of its own: its data, socket, pid file and
# log under $STATE/mariadb, TCP on 127.0.0.1:$MARIADB_PORT only, no option files read
# (`--no-defaults`: the package's /etc/mysql configuration is not used). The first start creates
# the data directory and a user the tests connect as, who may create databases (each test that
# needs a Glance database on MySQL makes its own). The package's own server is not used.

MARIADB_HOME=$STATE/mariadb
MARIADB_DATA=$MARIADB_HOME/data
MARIADB_SOCKET=$MARIADB_HOME/mariadb.sock
MARIADB_LOG=$MARIADB_HOME/mariadb.log
MARIADB_PIDFILE=$MARIADB_HOME/mariadb.pid
MARIADB_URL=mysql+pymysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/

mariadb_pid() { read_pid "$MARIADB_PIDFILE"; }
mariadb_alive() { pid_is_ours "$(mariadb_pid)" "--datadir=$MARIADB_DATA"; }

# Ready means: the tests' user can log in over TCP.
mariadb_ready() {
  mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" \
    -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" --connect-timeout=2 ping >/dev/null 2>&1
}

mariadb_install() {
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && return 0
  # Debian's policy-rc.d (or the lack of an init system) keeps the package's own server from
  # starting; should it start anyway, it is on its own port and socket and unused.
  apt_install mariadb-server
  command -v mariadbd >/dev/null || die "mariadb-server was installed but mariadbd is missing"
}

# As root, the server runs as root (it would otherwise need the package's `mysql` user to own
# the state dir); it listens on loopback only.
mariadb_user() { id -un; }

mariadb_initdb() {
  [[ -d $MARIADB_DATA/mysql ]] && return 0
  log "mariadb: creating $MARIADB_DATA"
  mkdir -p "$MARIADB_DATA"
  mariadb-install-db --no-defaults --datadir="$MARIADB_DATA" --user="$(mariadb_user)" \
    --auth-root-authentication-method=socket --skip-test-db >"$MARIADB_HOME/install.log" 2>&1 \
    || { show_log_tail "$MARIADB_HOME/install.log"; die "mariadb-install-db failed"; }
  MARIADB_BOOTSTRAP=1
}

# The tests' user, on the first start (root logs in through the socket as the OS's root).
mariadb_bootstrap() {
  mariadb --no-defaults --socket="$MARIADB_SOCKET" -u root <<SQL
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'127.0.0.1';
SQL
}

mariadb_up() {
  if mariadb_alive; then
    require_same_port mariadb "$(tr '\0' '\n' <"/proc/$(mariadb_pid)/cmdline" | sed -n 's/^--port=//p')" \
      "$MARIADB_PORT" CATALOG_LOCAL_MARIADB_PORT
    if mariadb_ready; then log "mariadb: already running on 127.0.0.1:$MARIADB_PORT"; return 0; fi
    MARIADB_WAIT=1
    return 0
  fi
  require_port_free "$MARIADB_PORT" "" mariadb CATALOG_LOCAL_MARIADB_PORT
  mariadb_install
  mkdir -p "$MARIADB_HOME"
  MARIADB_BOOTSTRAP=''
  mariadb_initdb
  log "mariadb: starting on 127.0.0.1:$MARIADB_PORT"
  start_detached "$MARIADB_PIDFILE" "$MARIADB_LOG" mariadbd --no-defaults \
    --datadir="$MARIADB_DATA" --socket="$MARIADB_SOCKET" --pid-file="$MARIADB_HOME/mariadbd.pid" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --user="$(mariadb_user)" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
  MARIADB_WAIT=1
}

mariadb_socket_ready() {
  mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" -u root --connect-timeout=2 ping >/dev/null 2>&1
}

mariadb_wait() {
  wait_ready mariadb 120 "$MARIADB_LOG" mariadb_alive mariadb_socket_ready
  if [[ -n ${MARIADB_BOOTSTRAP:-} ]] || ! mariadb_ready; then mariadb_bootstrap; fi
  wait_ready mariadb 30 "$MARIADB_LOG" mariadb_alive mariadb_ready
}

mariadb_down() {
  if mariadb_alive; then
    log "mariadb: stopping"
    stop_pid "$(mariadb_pid)" mariadb 60
  fi
  rm -f "$MARIADB_PIDFILE"
}

mariadb_purge() {
  mariadb_down
  log "mariadb: removing $MARIADB_HOME"
  rm -rf "$MARIADB_HOME"
}

mariadb_status() {
  java_status mariadb "$(mariadb_pid)" mariadb_alive mariadb_ready "127.0.0.1:$MARIADB_PORT" "$MARIADB_DATA"
}
