//! What the commands that write snapshots say on stderr: the report, the
//! refusal of a lossy conversion, salvage warnings, an empty selection.

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::rewrite::{Plan, outcome_json, report_json};

use crate::exit;
use crate::flags::OutOpts;

/// Rewrite `inputs` into `output` under `plan` (the engine's
/// [`rewrite`](rdbkit_engine::rewrite::rewrite)), and say what happened on
/// stderr. Shared by convert, filter and merge.
pub(crate) fn rewrite(
    inputs: &[&str],
    output: &str,
    plan: &Plan,
    out_opts: &OutOpts,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    out_opts.check_stdout(output)?;
    if out_opts.json && output == "-" {
        usage!(
            "--json prints the report on stdout, which -o - already takes: give -o FILE, or --report FILE"
        );
    }
    let finish = out_opts.finish(output)?;
    match rdbkit_engine::rewrite::rewrite(inputs, output, plan, &finish) {
        Ok(done) => {
            let report = &done.report;
            if out_opts.json {
                out.write_all(&outcome_json(&done))?;
            }
            for s in &done.skipped {
                warn!(
                    "skipped {} (input {}): {}",
                    if s.rest_of_input {
                        "the rest of the input"
                    } else {
                        "a damaged key"
                    },
                    inputs.get(s.input).unwrap_or(&"?"),
                    s.error
                );
            }
            if !quiet && !out_opts.json {
                say!("{report}");
                if done.duplicates_dropped > 0 {
                    say!("duplicate keys left out: {}\n", done.duplicates_dropped);
                }
                if !report.is_lossless() {
                    say!("rdbkit: wrote {output} with the losses above (--on-loss warn)\n");
                }
            }
            warn_if_nothing_selected(plan, report);
            if !done.skipped.is_empty() {
                warn!(
                    "wrote {output} from a damaged input: {} listed above",
                    plural(done.skipped.len() as u64, "skip", "skips")
                );
                return Ok(ExitCode::from(exit::DAMAGED));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => match e.lossy_report() {
            Some(report) => {
                if out_opts.json {
                    out.write_all(&report_json(report, &[]))?;
                }
                refused(report);
                Ok(ExitCode::from(exit::USAGE))
            }
            None => Err(e.into()),
        },
    }
}

/// The report and the refusal of a conversion that would lose data.
pub(crate) fn refused(report: &rdbkit_writer::Report) {
    say!("{report}");
    say!(
        "rdbkit: error: converting to {} would lose data ({}); nothing was written. Use --on-loss warn to convert anyway.\n",
        report.target,
        report.loss_summary()
    );
}

/// A selection that kept no key still writes a valid (empty) snapshot;
/// say so, since it is rarely what was meant.
pub(crate) fn warn_if_nothing_selected(plan: &Plan, report: &rdbkit_writer::Report) {
    if !plan.selector.is_all() && report.stats.keys_out == 0 && report.stats.keys_in > 0 {
        warn!(
            "the selection matched none of the {} (the output has no keys; function libraries and AUX fields are kept, selection flags pick keys only)",
            plural(report.stats.keys_in, "key", "keys")
        );
    }
}

/// `n` and the noun in the number it takes (the writer's wording).
pub(crate) use rdbkit_writer::count as plural;
