//! `polyworker-test`: with no arguments, the test environment over
//! stdin/stdout for the other languages' test helpers (the `stdio`
//! module); `polyworker-test scenario FILE.json` runs tests written as
//! data (the `scenario` module).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            polyworker_testing::stdio::serve().await;
            ExitCode::SUCCESS
        }
        [verb, file] if verb == "scenario" => {
            match polyworker_testing::scenario::run(std::path::Path::new(file)).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("polyworker-test: {e}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!(
                "usage: polyworker-test            (JSON lines on stdin/stdout)\n       polyworker-test scenario FILE.json"
            );
            ExitCode::from(2)
        }
    }
}
