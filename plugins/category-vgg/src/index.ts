export { CategoryVggOptions, categoryVgg, foldBatchNorm } from './category-vgg';
