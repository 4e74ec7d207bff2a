//! `polyworker replay`.

use std::path::PathBuf;

use super::connect;

#[allow(clippy::too_many_arguments)]
/// Replays the histories given on the command line; true when all replay.
pub async fn execute(
    module: PathBuf,
    histories: Vec<PathBuf>,
    workflow_id: Option<String>,
    run_id: Option<String>,
    query: Option<String>,
    limit: usize,
    address: String,
    namespace: String,
) -> anyhow::Result<bool> {
    use crate::replay;
    let mut inputs = Vec::new();
    for h in &histories {
        inputs.push(replay::history_file(h)?);
    }
    if workflow_id.is_some() || query.is_some() {
        let conn = connect(&address, "polyworker-replay").await?;
        if let Some(id) = &workflow_id {
            inputs.push(
                replay::fetch_history(&conn, &namespace, id, run_id.as_deref().unwrap_or(""))
                    .await?,
            );
        }
        if let Some(q) = &query {
            for (id, run) in replay::list_executions(&conn, &namespace, q, limit).await? {
                inputs.push(replay::fetch_history(&conn, &namespace, &id, &run).await?);
            }
        }
    }
    anyhow::ensure!(
        !inputs.is_empty(),
        "no histories to replay: give --history, --workflow-id or --query"
    );
    let bar = indicatif::ProgressBar::new(inputs.len() as u64);
    if inputs.len() > 1 {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} histories ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let tick = bar.clone();
    let reports = replay::replay(
        &module,
        &Default::default(),
        inputs,
        Some(Box::new(move || tick.inc(1))),
    )
    .await?;
    bar.finish_and_clear();
    let failed = reports.iter().filter(|r| r.outcome.is_err()).count();
    for r in &reports {
        match &r.outcome {
            Ok(()) => println!("ok    {} {} ({})", r.workflow_id, r.run_id, r.source),
            Err(m) => println!("FAIL  {} {} ({}): {m}", r.workflow_id, r.run_id, r.source),
        }
    }
    println!(
        "replayed {} histories against {}: {} ok, {failed} failed",
        reports.len(),
        module.display(),
        reports.len() - failed
    );
    Ok(failed == 0)
}
