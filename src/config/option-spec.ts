/** The shape of one server option (schema.ts holds the table), and the units its sizes use. */

/** The kinds of value an option takes. */
export type OptionType = 'string' | 'int' | 'number' | 'bool' | 'list' | 'enum';

/** One option's definition. */
export interface OptionSpec {
  type: OptionType;
  default: string | number | boolean | readonly string[];
  help: string;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Never printed (keys, secrets). */
  secret?: boolean;
  /** Group heading in help and docs. */
  group:
    | 'Network'
    | 'Security'
    | 'Limits'
    | 'Rooms and history'
    | 'Storage'
    | 'Cluster'
    | 'Operations';
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
