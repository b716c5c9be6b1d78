# no password in output, logs, JSON or ps; progress lines when piped; a live display in a terminal

case_main() {   # no password in output, logs, JSON or ps; progress lines when piped, a live block in a terminal
  local pw=Sekrit-pw-4242 json=$case_dir/t.json status=0 session=pgsluice-it-$$ screen last
  # into a target slowed down (slow_setup), so that the data takes seconds however fast the build
  # is: the progress lines below need it to last more than one interval
  slow_setup slow_pw
  # the clusters trust local connections and ignore the password: it must show nowhere all the same
  echo "+ pgsluice clone --source '... password=***' --target 'postgresql://postgres:***@...' --data-only -v &"
  setsid "$bin" clone --source "$(src_conn slow) password=$pw" \
    --target "postgresql://postgres:$pw@/slow_pw?host=$dst_dir&port=$dst_port" --data-only --jobs 2 --chunk-size 2MB \
    --progress-interval 1 --json "$json" -v >"$case_dir/out" 2>"$case_dir/err" &
  clone_pid=$!
  : >"$case_dir/ps"
  # the arguments are masked when the program starts: sample from its first log line on (under a
  # sanitizer the runtime's own start-up comes before that)
  while kill -0 "$clone_pid" 2>/dev/null; do
    grep -q 'pgsluice: ' "$case_dir/err" && ps -eo args >>"$case_dir/ps"
    sleep 0.2
  done
  wait "$clone_pid" || status=$?
  cat "$case_dir/err"
  [ "$status" -eq 0 ] || fail "the clone with passwords exited with status $status"
  expect_identical slow slow_pw
  grep 'pgsluice clone' "$case_dir/ps" | head -n 1
  grep -q 'pgsluice clone .*password=xxxx.*postgres:xxxx' "$case_dir/ps" || fail "ps did not show the clone with its passwords masked"
  if grep -qF -- "$pw" "$case_dir/out" "$case_dir/err" "$json" "$case_dir/ps"; then
    fail "the password appears in: $(grep -lF -- "$pw" "$case_dir/out" "$case_dir/err" "$json" "$case_dir/ps" | tr '\n' ' ')"
  fi

  # piped: progress as log lines, at least one a second, and no escape codes
  grep -c 'data: [0-9]* of [0-9]* chunks, [0-9]* of [0-9]* tables, [0-9]* rows, .* MB/s, ETA' "$case_dir/err" \
    | { read -r n; echo "progress lines: $n"; [ "$n" -ge 1 ]; } || fail "no progress line in the log"
  if grep -q $'\033' "$case_dir/out" "$case_dir/err"; then fail "escape codes in output that is not a terminal"; fi
  # -v: each line with its time and the thread that wrote it
  grep -q '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]\{3\} \[main\] pgsluice: ' "$case_dir/err" \
    || fail "-v lines lack the time or the thread"
  grep -q '^[0-9:.]* \[data [12]\] pgsluice: chunk [0-9]* of public\.slow_t: ' "$case_dir/err" \
    || fail "-v lines of the workers do not name the worker"

  # in a terminal: a live block that changes while the data moves, then the summary; into a
  # slowed target again
  if ! command -v tmux >/dev/null; then echo "# skipped the terminal display: no tmux"; return 0; fi
  slow_setup slow_tty
  tmux new-session -d -s "$session" -x 160 -y 45 \
    "$bin clone --source '$(src_conn slow)' --target '$(dst_conn slow_tty)' --data-only --jobs 2 --chunk-size 256kB; echo EXIT=\$?; sleep 60"
  : >"$case_dir/screens"
  for _ in $(seq 600); do
    screen=$(tmux capture-pane -p -t "$session")
    printf '%s\n=====\n' "$screen" >>"$case_dir/screens"
    case "$screen" in *EXIT=*) break ;; esac
    sleep 0.2
  done
  tmux kill-session -t "$session"
  last=$(awk 'BEGIN { RS = "=====\n" } { s = $0 } END { print s }' "$case_dir/screens")
  echo "$last"
  grep -o '\] data: [0-9]* of [0-9]* chunks' "$case_dir/screens" | sort -u >"$case_dir/bars"
  echo "distinct bars seen: $(wc -l <"$case_dir/bars")"
  [ "$(wc -l <"$case_dir/bars")" -ge 2 ] || fail "the live display did not change while the data moved"
  grep -q 'data .* public\.slow_t  chunk [0-9]* of [0-9]*' "$case_dir/screens" || fail "the live display showed no busy worker"
  case "$last" in *EXIT=0*) ;; *) fail "the clone in the terminal did not exit 0" ;; esac
  case "$last" in *"step "*"seconds"*"post-data"*"total"*) ;; *) fail "the terminal does not end with the summary" ;; esac
  case "$last" in *"] data:"*) fail "the live block stayed on the screen after the run" ;; esac
  expect_identical slow slow_tty
}
