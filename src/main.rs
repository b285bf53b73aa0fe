//! The `fdsync` binary: parse the command line, run it, map the result to an exit code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_output();
    let cli = fdsync::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let exit = runtime.block_on(fdsync::cli::run(cli));
    ExitCode::from(exit)
}

/// A closed stdout or stderr ends any command quietly. Rust ignores SIGPIPE (so a closed socket
/// is an error the HTTP client handles, not a kill), and `println!` (or a library writing to
/// stdout, such as clap_complete) then panics on the closed pipe: this hook turns a panic about
/// a broken pipe, when stdout or stderr is indeed a pipe nobody reads any more, into exit 141,
/// with nothing printed; any other panic is reported as before.
fn quiet_on_closed_output() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let about_a_pipe = text.contains("Broken pipe") || text.contains("BrokenPipe");
        if about_a_pipe && fdsync::cli::output_closed() {
            std::process::exit(fdsync::exit::Exit::ClosedOutput as i32);
        }
        report(info);
    }));
}
