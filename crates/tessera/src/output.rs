//! Text for people, JSON for scripts (`--output json`).

use serde::Serialize;

/// How a command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
}

/// Prints `text`, or `json` as one JSON document.
pub fn message(format: Format, text: &str, json: &impl Serialize) {
    match format {
        Format::Text => println!("{text}"),
        Format::Json => println!(
            "{}",
            serde_json::to_string(json).unwrap_or_else(|_| "null".into())
        ),
    }
}
