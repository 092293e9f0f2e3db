//! The `authservice` binary's library half: settings, wiring and startup, so tests can build
//! and run the real application in-process.

pub mod console;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
