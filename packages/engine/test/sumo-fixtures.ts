/** A tiny SUMO network and routes file: the SUMO loader's tests and the loaders' fuzz test start from them. */

/*
 * W(0,0) --wb (2 lanes)--> B(100,0) --be--> E(200,0); N(100,200) --nb--> B --bn--> N.
 * B is signalised; W, E, N are dead ends.
 * links: 0 wb_0→be_0 (s), 1 wb_1→bn_0 (l, through two chained internal lanes),
 *        2 nb_0→be_0 (l, no internal lane), 3 wb_1→be_0 (s, same states as 0).
 */
export const NET = `<?xml version="1.0" encoding="UTF-8"?>
<!-- tiny test net -->
<net version="1.9">
  <location netOffset="0.00,0.00" convBoundary="0,0,200,200"/>
  <edge id=":B_0" function="internal">
    <lane id=":B_0_0" index="0" speed="13.89" length="16.32" shape="92,-4.8 108,-1.6"/>
  </edge>
  <edge id=":B_1" function="internal">
    <lane id=":B_1_0" index="0" speed="8" length="6" shape="92,-1.6 98,-1.6"/>
  </edge>
  <edge id=":B_2" function="internal">
    <lane id=":B_2_0" index="0" speed="8" length="10" shape="98,-1.6 101.6,2 101.6,8"/>
  </edge>
  <edge id="wb" from="W" to="B" priority="1">
    <lane id="wb_0" index="0" speed="13.89" length="92" shape="0,-4.8 92,-4.8"/>
    <lane id="wb_1" index="1" speed="13.89" length="92" shape="0,-1.6 92,-1.6"/>
  </edge>
  <edge id="be" from="B" to="E" priority="1">
    <lane id="be_0" index="0" speed="13.89" length="92" width="3.5" shape="108,-1.75 200,-1.75"/>
  </edge>
  <edge id="bn" from="B" to="N" priority="1">
    <lane id="bn_0" index="0" speed="11.11" length="192" shape="101.6,8 101.6,200"/>
  </edge>
  <edge id="nb" from="N" to="B" priority="1">
    <lane id="nb_0" index="0" speed="11.11" length="192" shape="98.4,200 98.4,8"/>
  </edge>
  <tlLogic id="B" type="static" programID="0" offset="0">
    <phase duration="30" state="GGrG"/>
    <phase duration="3"  state="yyry"/>
    <phase duration="20" state="rrGr"/>
    <phase duration="3"  state="rryr"/>
  </tlLogic>
  <junction id="W" type="dead_end" x="0" y="0" incLanes="" intLanes="" shape="0,0 0,-6.4"/>
  <junction id="B" type="traffic_light" x="100" y="0" incLanes="wb_0 wb_1 nb_0" intLanes=":B_0_0 :B_1_0 :B_2_0" shape="92,0 108,0"/>
  <junction id="E" type="dead_end" x="200" y="0" incLanes="be_0" intLanes="" shape="200,0 200,-3.5"/>
  <junction id="N" type="dead_end" x="100" y="200" incLanes="bn_0" intLanes="" shape="100,200 103.2,200"/>
  <junction id=":B_2_0" type="internal" x="98" y="-1.6" incLanes=":B_1_0" intLanes=""/>
  <connection from="wb" to="be" fromLane="0" toLane="0" via=":B_0_0" tl="B" linkIndex="0" dir="s" state="O"/>
  <connection from="wb" to="bn" fromLane="1" toLane="0" via=":B_1_0" tl="B" linkIndex="1" dir="l" state="o"/>
  <connection from="nb" to="be" fromLane="0" toLane="0" tl="B" linkIndex="2" dir="l" state="o"/>
  <connection from="wb" to="be" fromLane="1" toLane="0" tl="B" linkIndex="3" dir="s" state="o"/>
  <connection from=":B_0" to="be" fromLane="0" toLane="0" dir="s" state="M"/>
  <connection from=":B_1" to="bn" fromLane="0" toLane="0" via=":B_2_0" dir="l" state="M"/>
  <connection from=":B_2" to="bn" fromLane="0" toLane="0" dir="l" state="M"/>
</net>
`;

export const ROUTES = `<?xml version="1.0" encoding="UTF-8"?>
<routes>
  <vType id="car" accel="3" decel="5" emergencyDecel="8" length="4.5" minGap="2" maxSpeed="70" tau="1.5"/>
  <route id="r1" edges="wb be"/>
  <vehicle id="v0" type="car" depart="3.7" route="r1"/>
  <vehicle id="v1" depart="5">
    <route edges="wb bn"/>
  </vehicle>
  <flow id="f1" type="car" begin="0" end="100" period="10" route="r1"/>
  <flow id="f2" begin="10" end="70" vehsPerHour="360">
    <route edges="nb be"/>
  </flow>
  <flow id="f3" begin="0" end="50" number="5" from="wb" to="bn"/>
  <flow id="f4" begin="0" end="60" probability="0.25" from="nb" to="be"/>
</routes>
`;

/** a (2 lanes) -> m (2 lanes) only lane 0 to lane 0; m -> x only from m's lane 1: a m x needs a lane change on m. */
export const LANE_CHANGE = `<net version="1.9">
  <edge id="a" from="A" to="B"><lane id="a_0" index="0" speed="10" length="100" shape="0,-4.8 100,-4.8"/><lane id="a_1" index="1" speed="10" length="100" shape="0,-1.6 100,-1.6"/></edge>
  <edge id="m" from="B" to="C"><lane id="m_0" index="0" speed="10" length="100" shape="100,-4.8 200,-4.8"/><lane id="m_1" index="1" speed="10" length="100" shape="100,-1.6 200,-1.6"/></edge>
  <edge id="x" from="C" to="D"><lane id="x_0" index="0" speed="10" length="100" shape="200,-1.6 300,-1.6"/></edge>
  <junction id="A" type="dead_end" x="0" y="0"/><junction id="B" type="priority" x="100" y="0"/>
  <junction id="C" type="priority" x="200" y="0"/><junction id="D" type="dead_end" x="300" y="0"/>
  <connection from="a" to="m" fromLane="0" toLane="0" dir="s" state="M"/>
  <connection from="m" to="x" fromLane="1" toLane="0" dir="s" state="M"/>
</net>`;
