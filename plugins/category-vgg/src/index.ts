export { CategoryVggOptions, categoryVgg } from './category-vgg';
