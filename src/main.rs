use std::io::IsTerminal;
use std::process::ExitCode;

use hooktail::cli::Command;
use hooktail::client::{self, Failure};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = hooktail::cli::parse();
    match cli.command {
        Some(Command::Serve) => report(hooktail::app::serve(&cli.options).await),
        Some(Command::Command { name, params }) => {
            match client::run(&cli.options, &name, &params).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(Failure::Usage(m)) => {
                    eprintln!("hooktail: {m}");
                    ExitCode::from(2)
                }
                Err(Failure::Failed(m)) => {
                    eprintln!("hooktail: {m}");
                    ExitCode::from(1)
                }
            }
        }
        None => {
            if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
                eprintln!(
                    "hooktail: the dashboard needs a terminal on stdin and stdout; \
                     to run the receiver alone, use `hooktail serve`"
                );
                return ExitCode::from(2);
            }
            report(hooktail::tui::run(&cli.options).await)
        }
    }
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hooktail: {e:#}");
            ExitCode::from(1)
        }
    }
}
