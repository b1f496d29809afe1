# hooktail tasks. `just --list` shows them.

# Receiver and dashboard in one process.
run *ARGS:
    cargo run --release -- {{ARGS}}

# Receiver only, logs to stderr.
serve *ARGS:
    cargo run --release -- serve {{ARGS}}

# The whole test suite, as CI runs it.
test:
    cargo test

# Format check and clippy with warnings as errors.
lint:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# Benchmarks (figures go into README's Performance section).
bench *ARGS:
    cargo bench {{ARGS}}

# What CI runs.
ci:
    bash .ci/run

# Fuzz token extraction and multipart parsing for SECONDS (not in CI). cargo-fuzz wants a
# nightly compiler; RUSTC_BOOTSTRAP=1 lets the stable one accept its flags.
fuzz SECONDS="60":
    cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz
    mkdir -p fuzz/corpus/receive
    RUSTC_BOOTSTRAP=1 cargo fuzz run receive fuzz/corpus/receive fuzz/seeds/receive -- -max_total_time={{SECONDS}}
