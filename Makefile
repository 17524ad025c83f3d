# SPDX-License-Identifier: GPL-2.0
#
# The KSM project: a new kernel samepage merging for Linux 6.12, kept as an
# overlay on Debian's linux-source-6.12 tree. This Makefile drives the
# build; the kernel's own kbuild runs underneath, in build/.
#
#   make demo          boot our kernel and watch KSM merge a workload
#   make demo DOMAINS=1  the same with merge domains (merge_across_cgroups=0)
#   make check         build the fast kernel, run every test in a guest
#   make check-debug   the same on the debug kernel (KASAN, lockdep, ...)
#   make kernel        build our kernel (CONFIG=fast or debug)
#   make stock         build the unmodified upstream kernel (CONFIG=...)
#   make check-stock   run the tests on the upstream kernel
#   make stress        a 10-minute KSM stress round on the debug kernel
#   make bench         benchmark our KSM against stock 6.12 (build/bench/)
#   make patches       emit the project as a git format-patch series
#   make tools         build the operator tools in tools/ksm
#   make deb           Debian packages of the tools and our kernel (build/deb/)
#   make clean         remove build/ (the unpacked trees and all outputs)

CONFIG ?= fast
STRESS_SECONDS ?= 600
SCRIPTS := scripts/overlay
TESTS := tools/testing/ksm

.PHONY: all deps kernel stock check check-debug check-stock check-stock-debug \
	demo stress bench patches tools deb clean help

all: kernel

help:
	@sed -n 's/^#   //p' Makefile

deps:
	@$(SCRIPTS)/deps.sh

kernel: deps
	@$(SCRIPTS)/kernel.sh ours $(CONFIG)

stock: deps
	@$(SCRIPTS)/kernel.sh stock $(CONFIG)

tools: deps
	@if [ -f tools/ksm/Makefile ]; then $(MAKE) -C tools/ksm; fi

deb: deps
	@$(SCRIPTS)/deb.sh all

check: deps
	@$(TESTS)/check.sh ours fast

check-debug: deps
	@$(TESTS)/check.sh ours debug

check-stock: deps
	@$(TESTS)/check.sh stock $(CONFIG)

demo: deps
	@$(TESTS)/demo.sh

stress: deps
	@$(SCRIPTS)/kernel.sh ours debug
	@$(SCRIPTS)/ksm-selftests.sh >/dev/null
	@$(TESTS)/run-guest.sh -o build/runs/stress -t 2400 -a "panic_on_warn=1" \
		build/ours-debug/arch/x86/boot/bzImage \
		build/ksm-selftests/ksm_stress --seconds $(STRESS_SECONDS)

bench: deps
	@$(TESTS)/bench.sh

patches: deps
	@$(SCRIPTS)/patches.sh

clean:
	rm -rf build patches/out
	@if [ -f tools/ksm/Makefile ]; then $(MAKE) -C tools/ksm clean; fi
