#!/usr/bin/env bash
# layers.sh [SOURCE_DIR]: the arrows between the layers point down only (see the README's Layout).
# Each layer may include the headers of the layers listed for it and of its own; any other
# include of a project header is named, with the file and line, and the script exits 1.
set -uo pipefail
cd "${1:-$(dirname "$0")/..}" || exit 2

declare -A may=(
  [base]="base"
  [codec]="codec base"
  [io]="io base"
  [engine]="engine io codec base"
  [cmd]="cmd engine io codec base"
  [cli]="cli cmd engine io codec base"
)
status=0
for layer in base codec io engine cmd cli; do
  while IFS=: read -r file line text; do
    used=$(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' <<<"$text")
    [ -n "$used" ] || continue
    case " ${may[$layer]} " in
      *" $used "*) ;;
      *) echo "$file:$line: $layer/ includes a header of $used/, a layer above it or beside it: $text"
         status=1 ;;
    esac
  done < <(grep -n '^#include "' "$layer"/*.[ch])
done
[ "$status" -eq 0 ] && echo "layers: every include points down"
exit "$status"
