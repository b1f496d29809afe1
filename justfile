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
