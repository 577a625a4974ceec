# nestci in a container: Debian bookworm, a release build with the Swift runtime linked
# statically, and the Debian packages nestci drives (qemu, Bochs, GRUB, gcc).
#   docker build -t nestci .
#   docker run --rm -v $PWD/store:/store nestci demo --store /store
# For the qemu-kvm backend pass the host's KVM in: --device /dev/kvm.
# The image of `nestci export k8s`: its pods run `nestci cell run` (builds, GRUB disks, boots).
# --static-swift-stdlib links the Swift runtime in, but FoundationNetworking still needs
# libcurl.so.4 at run time (libcurl4, which none of the packages above pulls in on bookworm).

FROM swift:6.3-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Matrix Matrix
COPY Hypervisor Hypervisor
COPY CIRunner CIRunner
COPY Tests Tests
RUN swift build -c release --product nestci --static-swift-stdlib

FROM debian:bookworm-slim
COPY scripts/debian-packages.txt /tmp/debian-packages.txt
RUN apt-get update -qq \
    && grep -v -e '^#' -e '^$' -e '^chromium$' -e 'libsqlite3-dev' /tmp/debian-packages.txt \
       | xargs apt-get install -y -qq --no-install-recommends libsqlite3-0 libcurl4 ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* /tmp/debian-packages.txt
COPY --from=build /src/.build/release/nestci /usr/local/bin/nestci
COPY Hypervisor/demo /usr/share/nestci/demo
COPY examples /usr/share/nestci/examples
ENV NESTCI_DEMO_DIR=/usr/share/nestci/demo
# tini reaps what nestci's own reaper cannot reach when nestci is PID 1.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nestci"]
CMD ["--help"]
