//! Toy text: small discrete MDPs (integer observations), solvable by tabular methods.
