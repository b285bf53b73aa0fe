//! Runs the simulator standalone: `cargo run -p fdsync-sim --example sim -- --agents 5`.
//! (The product exposes the same flags as `fdsync sim`.)

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    sim: fdsync_sim::cli::SimArgs,
}

#[tokio::main]
async fn main() -> Result<(), fdsync_sim::cli::RunError> {
    fdsync_sim::cli::run(Args::parse().sim).await
}
