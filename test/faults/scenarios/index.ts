/** Every scenario of the full run, in the order it runs them. */
import type { Scenario } from '../scenario.js';
import { duplicates } from './duplicates.js';
import { negativeControl } from './negative-control.js';

export const SCENARIOS: readonly Scenario[] = [duplicates, negativeControl];
