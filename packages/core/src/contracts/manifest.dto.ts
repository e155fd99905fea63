// class-transformer's @Type reads decorator metadata through the Reflect API polyfill.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  Equals,
  IsArray,
  IsDateString,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsSemVer,
  IsString,
  Matches,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { MODULE_KIND_IDS, TASK_IDS, type ModuleKind, type TaskId } from './module-kinds';
import { DIGEST_PATTERN, MODULE_NAME_PATTERN } from './names';
import { PortsDto } from './ports';

export const MANIFEST_FORMAT_VERSION = 1;

/** The plugin family that builds the module's layers, e.g. `category-vgg@1.0.0`. */
export class FamilyDto {
  @Matches(MODULE_NAME_PATTERN)
  name!: string;

  @IsSemVer()
  version!: string;
}

/**
 * Another module this one needs. `range` is what was asked for; `pinned` is the exact version
 * and digest it was built against (required for adapters, which are trained between two
 * exact modules).
 */
export class PinnedDto {
  @IsSemVer()
  version!: string;

  @Matches(DIGEST_PATTERN)
  digest!: string;
}

export class DependencyDto {
  @Matches(MODULE_NAME_PATTERN)
  name!: string;

  @IsIn(MODULE_KIND_IDS)
  kind!: ModuleKind;

  @IsString()
  @MinLength(1)
  range!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => PinnedDto)
  pinned?: PinnedDto;
}

/** The weights blob: named tensors encoded with msgpackr, addressed by its sha256. */
export class WeightsDto {
  @Matches(DIGEST_PATTERN)
  digest!: string;

  @IsInt()
  @Min(1)
  size!: number;

  @IsInt()
  @Min(0)
  tensors!: number;

  @IsInt()
  @Min(0)
  parameters!: number;
}

export class ProvenanceDto {
  /** What the module was trained on, e.g. `synthetic:v1 bird seed=7 n=2000`. */
  @IsString()
  @MaxLength(500)
  data!: string;

  @IsInt()
  @Min(0)
  seed!: number;

  @IsInt()
  @Min(0)
  steps!: number;

  /** The tensor back end that trained it, as reported by `selectBackend`. */
  @IsString()
  backend!: string;

  /** Training wall time in seconds, on that back end. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  wallSeconds?: number;

  @IsDateString()
  createdAt!: string;
}

export class MetricDto {
  @Matches(/^[a-z][a-z0-9-]*$/)
  name!: string;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  value!: number;

  /** Where it was measured, e.g. `synthetic:v1 cat test n=500`. */
  @IsString()
  on!: string;
}

/** The module card: the measured numbers people choose a module by. */
export class CardDto {
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  summary?: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => MetricDto)
  metrics!: MetricDto[];
}

/** Every published module carries one manifest; this class is its single source of truth. */
export class ModuleManifestDto {
  @Equals(MANIFEST_FORMAT_VERSION)
  formatVersion!: number;

  /** The tool that wrote it, e.g. `transplant/0.1.0`. */
  @Matches(/^[a-z@][\w@./-]*\/\d+\.\d+\.\d+\S*$/)
  generatedBy!: string;

  @IsIn(MODULE_KIND_IDS)
  kind!: ModuleKind;

  @Matches(MODULE_NAME_PATTERN)
  @MinLength(2)
  @MaxLength(64)
  name!: string;

  @IsSemVer()
  version!: string;

  @IsOptional()
  @IsIn(TASK_IDS)
  task?: TaskId;

  @IsOptional()
  @Matches(MODULE_NAME_PATTERN)
  category?: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => FamilyDto)
  family!: FamilyDto;

  /** The family's options; validated by the family's own schema, not here. */
  @IsObject()
  options!: Record<string, unknown>;

  @IsDefined()
  @ValidateNested()
  @Type(() => PortsDto)
  ports!: PortsDto;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DependencyDto)
  dependencies!: DependencyDto[];

  @IsDefined()
  @ValidateNested()
  @Type(() => WeightsDto)
  weights!: WeightsDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => ProvenanceDto)
  provenance!: ProvenanceDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => CardDto)
  card!: CardDto;
}

export type ModuleManifest = Readonly<ModuleManifestDto>;
