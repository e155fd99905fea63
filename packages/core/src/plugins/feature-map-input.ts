import { IsInt, Min } from 'class-validator';

/**
 * The options every head takes to describe its input feature map: side, channels and stride
 * relative to the image. Extend it in a head's options DTO; the initialisers are the defaults.
 */
export class FeatureMapInputOptions {
  @IsInt()
  @Min(1)
  inputSize = 8;

  @IsInt()
  @Min(1)
  inputChannels = 64;

  @IsInt()
  @Min(1)
  inputStride = 8;
}
