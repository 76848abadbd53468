//! Policy as code: segments, first-match rules, decisions, policy tests.
