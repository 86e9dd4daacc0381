//! The `vafa` binary as a user runs it: commands, and whole server processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commands;
mod processes;
mod server;

use std::process::{Command, Output};

pub fn vafa(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vafa"))
        .args(args)
        .env("VAFA_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
