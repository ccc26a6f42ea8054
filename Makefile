# Conveniences over scripts/: each target is one script, usable without make.

.PHONY: build run test bench docs deb image image-test deploy-check fuzz \
        clean

build:
	scripts/build.sh

run:
	scripts/run.sh

test:
	scripts/test.sh

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

clean:
	rm -rf build t/servroot
