# Conveniences over scripts/: each target is one script, usable without make.

.PHONY: build run test test-real bench docs deb image image-test deploy-check fuzz \
        asan asan-full valgrind mockeagain mockeagain-valgrind clean

build:
	scripts/build.sh

run:
	scripts/run.sh

test:
	scripts/test.sh

test-real:
	scripts/test-real.sh

bench:
	bench/run

docs:
	scripts/docs.sh

deb:
	scripts/package.sh

image:
	scripts/image.sh

image-test:
	scripts/image-test.sh

deploy-check:
	scripts/deploy-check.sh

fuzz:
	fuzz/run.sh 60

# the whole suite with the module under ASan+UBSan (full: nginx too, with
# pool debugging), under valgrind memcheck, and with one-byte socket I/O
asan:
	scripts/asan.sh stock

asan-full:
	scripts/asan.sh full

valgrind:
	scripts/valgrind.sh

mockeagain:
	scripts/mockeagain.sh

mockeagain-valgrind:
	scripts/mockeagain.sh --valgrind

clean:
	rm -rf build t/servroot
