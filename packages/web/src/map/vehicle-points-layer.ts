// Vehicles as round point sprites in ONE non-instanced draw call.
// deck.gl's ScatterplotLayer draws an instanced quad per point; software WebGL
// (SwiftShader, what headless Chromium without a GPU uses) pays ~25 µs per
// instance, so 20,000 vehicles took ~500 ms a frame. Points cost a vertex each,
// and the vertex shader is deck's projection reduced to the flat (identity)
// projection of an OrthographicView — the only view this layer is used in.
import { Layer, project32, type Accessor, type Color, type DefaultProps, type LayerProps, type Position, type UpdateParameters } from '@deck.gl/core';
import { Model } from '@luma.gl/engine';

const uniformBlock = /* glsl */ `\
layout(std140) uniform vehiclesUniforms {
  float radius;
  float radiusMinPixels;
  float ring;
} vehicles;
`;

const vehiclesUniforms = {
  name: 'vehicles',
  vs: uniformBlock,
  fs: uniformBlock,
  uniformTypes: { radius: 'f32', radiusMinPixels: 'f32', ring: 'f32' },
} as const;

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-points-layer-vertex-shader
in vec2 positions;
in vec4 colors;
out vec4 vColor;
void main(void) {
  vec4 world = project.modelMatrix * vec4(positions, 0.0, 1.0);
  vec3 commonPos = (world.xyz - project.coordinateOrigin) * project.commonUnitsPerWorldUnit;
  gl_Position = project.viewProjectionMatrix * vec4(commonPos, 1.0) + project.center;
  float r = max(vehicles.radius * project.scale, vehicles.radiusMinPixels);
  gl_PointSize = 2.0 * r * project.devicePixelRatio;
  vColor = vec4(colors.rgb, colors.a * layer.opacity);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-points-layer-fragment-shader
precision highp float;
in vec4 vColor;
out vec4 fragColor;
void main(void) {
  vec2 c = gl_PointCoord * 2.0 - 1.0;
  float d = dot(c, c);
  if (d > 1.0 || d < vehicles.ring * vehicles.ring) discard;
  fragColor = vColor;
}
`;

interface _VehiclePointsProps<D> {
  getPosition?: Accessor<D, Position>;
  getFillColor?: Accessor<D, Color>;
  /** radius in world units (metres on the city map) */
  radius?: number;
  radiusMinPixels?: number;
  /** 0: a filled disc; else a ring whose hole is this share of the radius (an outline drawn over other points) */
  ring?: number;
}

export type VehiclePointsLayerProps<D = unknown> = _VehiclePointsProps<D> & LayerProps;

export class VehiclePointsLayer<D = unknown> extends Layer<Required<_VehiclePointsProps<D>>> {
  static override layerName = 'VehiclePointsLayer';
  static override defaultProps: DefaultProps<VehiclePointsLayerProps> = {
    getPosition: { type: 'accessor', value: (x: unknown) => (x as { position: Position }).position },
    getFillColor: { type: 'accessor', value: [0, 0, 0, 255] },
    radius: { type: 'number', min: 0, value: 2 },
    radiusMinPixels: { type: 'number', min: 0, value: 1 },
    ring: { type: 'number', min: 0, max: 1, value: 0 },
  };
  declare state: { model?: Model };

  override getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, vehiclesUniforms] });
  }

  override initializeState(): void {
    this.getAttributeManager()!.add({
      positions: { size: 2, type: 'float32', accessor: 'getPosition' },
      colors: { size: 4, type: 'unorm8', accessor: 'getFillColor', defaultValue: [0, 0, 0, 255] },
    });
  }

  override updateState(params: UpdateParameters<this>): void {
    super.updateState(params);
    if (params.changeFlags.extensionsChanged) {
      this.state.model?.destroy();
      this.state.model = new Model(this.context.device, {
        ...this.getShaders(),
        id: this.props.id,
        bufferLayout: this.getAttributeManager()!.getBufferLayouts(),
        topology: 'point-list',
        vertexCount: 0,
      });
      this.getAttributeManager()!.invalidateAll();
    }
  }

  override draw(): void {
    const model = this.state.model;
    if (!model) return;
    const { radius, radiusMinPixels, ring } = this.props;
    model.setVertexCount(this.getNumInstances());
    model.shaderInputs.setProps({ vehicles: { radius, radiusMinPixels, ring } });
    model.draw(this.context.renderPass);
  }
}
