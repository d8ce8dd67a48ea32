/**
 * The AWS SDK warns once per process, in nine lines, that its releases after January 2027 need
 * Node 22. In the processes this project starts itself (the CLI, the demo and its fleet workers,
 * the test and fault runs, the benchmark) that warning is noise that reads like a failure, so it is
 * turned off through the SDK's own switch, which their children inherit. Importing the library
 * never does this: a user's own processes still get the warning.
 */
export const SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

process.env[SDK_NODE_WARNING_SWITCH] ??= 'true';
