//! `polyworker-test`: the test environment over stdin/stdout, for the
//! test helpers of guest languages other than Rust (see the `stdio`
//! module).

#[tokio::main]
async fn main() {
    polyworker_testing::stdio::serve().await;
}
