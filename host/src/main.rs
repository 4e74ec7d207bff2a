//! The `polyworker` binary: parses the command line and hands it to
//! `polyworker_host::cli`.

use std::process::ExitCode;

use clap::Parser;
use polyworker_host::cli;
use polyworker_host::ops::telemetry;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let quiet = cli::is_report(&cli.command);
    telemetry::init(cli.log_json, quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
