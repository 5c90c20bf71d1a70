//! Protocol tests: round trips over real operations, error rendering, bad input.
