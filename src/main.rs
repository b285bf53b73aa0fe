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

/// Exit code of a command whose output was closed (`fdsync audit | head -1`): 128 + SIGPIPE, as
/// the shell reports a command a closed pipe ended.
const CLOSED_OUTPUT: i32 = 141;

/// A closed stdout or stderr ends any command quietly. Rust ignores SIGPIPE (so a closed socket
/// is an error the HTTP client handles, not a kill), and `println!` then panics on the closed
/// pipe: this hook turns exactly that panic into exit 141, with nothing printed; any other
/// panic is reported as before.
fn quiet_on_closed_output() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let broken_pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
        let os_broken_pipe = std::io::Error::from_raw_os_error(32).to_string();
        if text.starts_with("failed printing to std") && (text.contains(&os_broken_pipe) || text.contains(&broken_pipe)) {
            std::process::exit(CLOSED_OUTPUT);
        }
        report(info);
    }));
}
