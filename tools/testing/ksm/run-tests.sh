#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-tests.sh RESULTS LIST...: run the tests of the given lists in the
# guest and report each as a KTAP line, on stdout and in RESULTS.
#
# A list has one test a line: NAME|KIND|TIMEOUT|COMMAND (blank lines and
# lines starting with # are ignored). KIND says how a result is read:
#   exit  kselftest exit status: 0 pass, 4 skip, anything else fails
#   tap   the program prints TAP; each of its "ok"/"not ok" lines is a
#         result of its own ("ok N desc # SKIP" and kselftest.h's
#         "ok N # SKIP desc" are skips), and a bad exit status with no
#         failed line (a crash, a timeout) is one more failure
# Program output is echoed behind "# " so that only the driver's lines are
# results. Written for dash: it runs under the host's /bin/sh.

results=${1:?usage: run-tests.sh RESULTS LIST...}
shift
n=0
log=$(mktemp)
pty=
script -qec true /dev/null >/dev/null 2>&1 </dev/null && pty=1

report() {	# report STATUS DESCRIPTION [DIRECTIVE]
	n=$((n + 1))
	line="$1 $n $2${3:+ # $3}"
	echo "$line"
	echo "$line" >>"$results"
}

run_one() {	# run_one NAME KIND TIMEOUT COMMAND
	name=$1 kind=$2 limit=$3 cmd=$4
	echo "# ---- $name"
	start=$(date +%s)
	# Under a pseudo-terminal, as when run by hand: stdio is line-buffered
	# then, so a test that forks does not print its buffered lines twice.
	if [ -n "$pty" ]; then
		timeout -k 10 "$limit" script -qec "$cmd" /dev/null >"$log" 2>&1 </dev/null
		rc=$?
		sed -i 's/\r$//' "$log"
	else
		timeout -k 10 "$limit" sh -c "$cmd" >"$log" 2>&1 </dev/null
		rc=$?
	fi
	sed 's/^/# /' "$log"
	echo "# ---- $name: exit $rc after $(($(date +%s) - start)) s"
	if [ "$kind" = tap ]; then
		bad=0
		sub=0
		what=
		while IFS= read -r l; do
			case "$l" in
			"# [RUN] "*)
				# kselftest names the case before its result.
				what="${l#"# [RUN] "}: "
				;;
			"ok "[0-9]*|"not ok "[0-9]*)
				st=ok
				case "$l" in "not ok "*) st="not ok"; bad=1 ;; esac
				rest=${l#"$st "}
				rest=${rest#*[0-9] }
				rest=${rest#- }
				case "$rest" in
				"# "*)
					# kselftest.h puts the directive
					# first: "ok 3 # SKIP description".
					dir=${rest#"# "}
					desc=${dir#* }
					dir=${dir%% *}
					[ "$desc" != "$dir" ] || desc=
					;;
				*)
					desc=${rest%%#*}
					dir=
					case "$rest" in *"# "*) dir=${rest#*# } ;; esac
					;;
				esac
				report "$st" "$name: $what${desc% }" "$dir"
				what=
				sub=$((sub + 1))
				;;
			esac
		done <"$log"
		plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log" | head -n 1)
		if [ -n "$plan" ] && [ "$plan" -ne $sub ]; then
			report "not ok" "$name: planned $plan results, printed $sub"
		fi
		if [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ $bad -eq 0 ]; then
			report "not ok" "$name: exit status $rc"
		elif [ $sub -eq 0 ] && [ $rc -eq 4 ]; then
			report ok "$name" "SKIP"
		elif [ $sub -eq 0 ] && [ $rc -eq 0 ]; then
			report "not ok" "$name: printed no results"
		fi
		return
	fi
	case $rc in
	0) report ok "$name" ;;
	4) report ok "$name" "SKIP $(tail -n 1 "$log")" ;;
	124|137) report "not ok" "$name" "timed out after $limit s" ;;
	*) report "not ok" "$name" "exit status $rc" ;;
	esac
}

echo "TAP version 13"
for list in "$@"; do
	while IFS='|' read -r name kind limit cmd; do
		case "$name" in ""|"#"*) continue ;; esac
		run_one "$name" "$kind" "$limit" "$cmd"
	done <"$list"
done
echo "1..$n"
rm -f "$log"
