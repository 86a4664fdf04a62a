/** How `run` and `bench` load an engine: the flags they share and the session they open. */
import { InferenceSession } from '../inference-session.js';
import { cliLogger } from './output.js';
import { checkReadableFile } from './preflight.js';
import { backendOption, DEVICE_AND_PLUGIN_HELP, DEVICE_AND_PLUGIN_OPTIONS, deviceAndPlugins, UsageError } from './usage.js';

export const SESSION_OPTIONS = {
  backend: { type: 'string' },
  profile: { type: 'string' },
  engineHostCodeAllowed: { type: 'boolean' },
  ...DEVICE_AND_PLUGIN_OPTIONS,
} as const;

export const SESSION_HELP = `  --backend NAME             auto (default: picked by the engine file), tensorrt or sim
  --profile N                optimization profile to use (default 0)
  --engineHostCodeAllowed    load a version-compatible engine, whose lean runtime runs in
                             this process (only for engines you trust)
${DEVICE_AND_PLUGIN_HELP}`;

interface SessionValues {
  backend?: string;
  profile?: string;
  engineHostCodeAllowed?: boolean;
  device?: string;
  plugins?: string[];
  dynamicPlugins?: string[];
}

/** The engine file named on the command line, loaded with the flags; `profile` is the one set. */
export async function openSession(positionals: string[], values: SessionValues): Promise<{ session: InferenceSession; profile: number }> {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one engine file, got ${positionals.length}`);
  const backend = backendOption(values.backend);
  const profile = values.profile === undefined ? 0 : Number(values.profile);
  if (!Number.isInteger(profile) || profile < 0) throw new UsageError('--profile takes an integer >= 0');
  const path = positionals[0]!;
  await checkReadableFile(path, 'MODEL.engine');
  const session = await InferenceSession.create(path, {
    logger: cliLogger(),
    ...(backend && { backend }),
    profile,
    ...deviceAndPlugins(values),
    ...(values.engineHostCodeAllowed && { engineHostCodeAllowed: true }),
  });
  return { session, profile };
}
