#!/usr/bin/env bash
# manpage.sh BINARY [OUT]: writes pgsluice(1), in troff, to OUT (default: standard output), made
# from the program's own --help and --version texts, so that the manual and the help never say
# different things. The build makes it as pgsluice.1 beside the binary.
set -euo pipefail
bin=$1
if [ $# -ge 2 ]; then exec >"$2.tmp"; trap 'rm -f "$2.tmp"' EXIT; fi
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')

# quote: troff-safe text; a line starting with . or ' would be a request, \ an escape
quote() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

version=$("$bin" --version | head -n 1)
cat <<TROFF
.TH PGSLUICE 1 "" "${version}" "User Commands"
.SH NAME
pgsluice \\- copy PostgreSQL databases between clusters, and prove the copy identical
.SH SYNOPSIS
.B pgsluice
.I COMMAND
[\\fIOPTION\\fR]...
.SH DESCRIPTION
.nf
TROFF
"$bin" --help | quote
echo ".fi"
echo ".SH COMMANDS"
for c in $commands; do
  echo ".SS $c"
  echo ".nf"
  "$bin" "$c" --help | quote
  echo ".fi"
done
cat <<TROFF
.SH ENVIRONMENT
.TP
.B PGSLUICE_SOURCE, PGSLUICE_TARGET
stand in for \\-\\-source and \\-\\-target.
.TP
.B PGPASSWORD, PGPASSFILE, PGSERVICE, ...
libpq's environment variables, .pgpass and service files work as they do for psql.
.SH VERSION
${version}
.SH SEE ALSO
.BR pg_dump (1),
.BR pg_restore (1),
.BR psql (1)
TROFF
if [ $# -ge 2 ]; then mv "$2.tmp" "$2"; trap - EXIT; fi
