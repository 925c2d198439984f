//! Terraform's built-in functions.
//!
//! IMPLEMENTATION OWNER: the lang helper.
