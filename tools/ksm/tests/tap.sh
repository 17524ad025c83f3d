# SPDX-License-Identifier: GPL-2.0
#
# tap.sh: the TAP helpers of the shell tests in tools/ksm/tests, sourced.
#
#   tap_plan N           print the TAP header for N tests
#   check NAME CMD...    one test: ok when CMD succeeds, else not ok with
#                        CMD's output as diagnostics
#   expect WANT GOT      succeed if equal, else say what differs
#   tap_done             print the totals; succeed only if N tests ran
#                        and none failed

n=0 failed=0 TESTS=0

tap_plan() {
	TESTS=$1
	echo "TAP version 13"
	echo "1..$TESTS"
}

check() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

expect() {
	[ "$1" = "$2" ] && return 0
	case "$1$2" in
	*$'\n'*) printf 'expected:\n%s\ngot:\n%s\n' "$1" "$2" ;;
	*) echo "expected '$1', got '$2'" ;;
	esac
	return 1
}

tap_done() {
	echo "# $((n - failed)) passed, $failed failed"
	[ "$n" -eq "$TESTS" ] && [ "$failed" -eq 0 ]
}
