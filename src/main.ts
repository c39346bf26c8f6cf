/**
 * Entry point: `npm start` locally, `run.sh` in the add-on. Any StartupError ends the process
 * with its message and exit code 1; SIGTERM/SIGINT shut down cleanly.
 */

import { type RunningApp, startApp } from './app.js';
import { type Config, loadConfig } from './config/load.js';
import { StartupError } from './errors.js';
import { Logger } from './log/logger.js';

async function main(): Promise<void> {
  const logger = new Logger('info');
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof StartupError) {
      // Written directly, not through the logger: the missing-key message must show the key it generated.
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  logger.setLevel(config.logLevel);
  if (config.mode === 'local') {
    logger.warning('*'.repeat(72));
    logger.warning(`LOCAL DEVELOPMENT RUN: no options file at ${config.optionsFile}.`);
    logger.warning(`Using development secrets from ${config.devSecretsFile}. Never use them for a real Alexa skill.`);
    logger.warning('*'.repeat(72));
  }
  let app: RunningApp;
  try {
    app = await startApp(config, logger);
  } catch (error) {
    if (error instanceof StartupError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      logger.fatal((error as Error).message);
      process.exit(1);
    }
    throw error;
  }
  const running = app;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received; finishing requests in flight`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('Clean shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  new Logger('info').fatal('Unexpected failure at start-up', { error });
  process.exit(1);
});
