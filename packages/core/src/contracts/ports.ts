// class-transformer's @Type reads decorator metadata through the Reflect API polyfill.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';

/** What a port carries. */
export const PORT_ROLES = ['image', 'feature-map', 'logits', 'mask-logits'] as const;
export type PortRole = (typeof PORT_ROLES)[number];

export const PORT_DTYPES = ['float32', 'int32', 'bool'] as const;
export type PortDtype = (typeof PORT_DTYPES)[number];

/** The range and normalisation of a port's values, so that two ports agree on more than shape. */
export const VALUE_RANGES = {
  unit: 'images scaled to [0, 1]',
  'non-negative': 'after a ReLU: [0, ∞)',
  real: 'unbounded real values (logits, pre-activation features)',
} as const;
export type ValueRange = keyof typeof VALUE_RANGES;

/** Rank 2–4, a symbolic batch axis first, then positive integers or `null` (symbolic). */
function IsPortShape(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPortShape',
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) &&
          value.length >= 2 &&
          value.length <= 4 &&
          value[0] === null &&
          value.slice(1).every((v) => v === null || (Number.isSafeInteger(v) && (v as number) >= 1)),
        defaultMessage: () =>
          '$property must be [null, …] of rank 2 to 4: a symbolic batch, then positive integers or null',
      },
    },
    options,
  );
}

/**
 * A typed description of a tensor at a module boundary. `shape` is NHWC (or [N, classes])
 * with `null` for symbolic sizes (always the batch; spatial sizes when the module is fully
 * convolutional). `stride` is the spatial stride relative to the input image (1 for images,
 * 0 for outputs without spatial layout, such as class logits).
 */
export class PortDto {
  @IsIn(PORT_ROLES)
  role!: PortRole;

  @IsIn(PORT_DTYPES)
  dtype!: PortDtype;

  @IsPortShape()
  shape!: (number | null)[];

  @IsInt()
  @Min(1)
  channels!: number;

  @IsInt()
  @Min(0)
  stride!: number;

  @IsIn(Object.keys(VALUE_RANGES))
  values!: ValueRange;
}

export class PortsDto {
  // @ValidateNested alone lets a missing value through.
  @IsDefined()
  @ValidateNested()
  @Type(() => PortDto)
  input!: PortDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => PortDto)
  output!: PortDto;
}

export type Port = Readonly<PortDto>;

/**
 * Why an output port cannot feed an input port; empty when they connect. Checked by the
 * composer before any weights are fetched.
 */
export function portMismatches(from: Port, to: Port): string[] {
  const problems: string[] = [];
  if (from.role !== to.role) problems.push(`role ${from.role} ≠ ${to.role}`);
  if (from.dtype !== to.dtype) problems.push(`dtype ${from.dtype} ≠ ${to.dtype}`);
  if (from.channels !== to.channels) problems.push(`channels ${from.channels} ≠ ${to.channels}`);
  if (from.stride !== to.stride) problems.push(`stride ${from.stride} ≠ ${to.stride}`);
  if (from.values !== to.values) problems.push(`values ${from.values} ≠ ${to.values}`);
  if (from.shape.length !== to.shape.length) {
    problems.push(`rank ${from.shape.length} ≠ ${to.shape.length}`);
  } else {
    from.shape.forEach((size, axis) => {
      const other = to.shape[axis];
      if (axis > 0 && size !== null && other !== null && other !== undefined && size !== other) {
        problems.push(`shape[${axis}] ${size} ≠ ${other}`);
      }
    });
  }
  return problems;
}

/** Cross-field rules class-validator cannot express: the last axis of a map is its channels. */
export function portViolations(port: Port, path: string): { path: string; message: string }[] {
  const known = port.shape.reduce<number>((n, size) => (size === null ? n : n * size), 1);
  if (known > MAX_PORT_ELEMENTS) {
    return [{ path: `${path}.shape`, message: `declares ${known} elements; at most ${MAX_PORT_ELEMENTS}` }];
  }
  const last = port.shape[port.shape.length - 1];
  if (last !== null && last !== undefined && last !== port.channels) {
    return [{ path: `${path}.channels`, message: `channels ${port.channels} ≠ last axis of shape ${last}` }];
  }
  return [];
}

/** The most elements a port's known sizes may multiply to (a tensor's limit, 2³¹ − 1). */
export const MAX_PORT_ELEMENTS = 2 ** 31 - 1;

/** A square, non-negative (post-ReLU) float32 feature map: what category modules output and heads and adapters take. */
export function featureMapPort(size: number, channels: number, stride: number): Port {
  return {
    role: 'feature-map',
    dtype: 'float32',
    shape: [null, size, size, channels],
    channels,
    stride,
    values: 'non-negative',
  };
}
